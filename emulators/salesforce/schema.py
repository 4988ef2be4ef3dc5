"""Object and field definitions: what describe returns and what the rules consult.

Field types use the REST describe names (id, string, boolean, int, double, currency, percent,
date, datetime, reference, picklist, multipicklist, textarea, email, phone, url, base64).
Names are matched case-insensitively, as Salesforce does; the definition keeps the canonical
spelling, which is what responses use.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any

# Fields every object carries; the platform maintains them and they are never permissionable.
AUDIT_FIELDS = (
    "CreatedDate",
    "CreatedById",
    "LastModifiedDate",
    "LastModifiedById",
    "SystemModstamp",
)

NUMERIC_TYPES = frozenset({"int", "double", "currency", "percent"})
TEXT_TYPES = frozenset(
    {
        "string",
        "textarea",
        "email",
        "phone",
        "url",
        "picklist",
        "multipicklist",
        "combobox",
        "id",
        "reference",
        "encryptedstring",
    }
)


@dataclass(frozen=True)
class FieldDef:
    name: str
    type: str
    label: str = ""
    length: int = 0
    nillable: bool = True
    createable: bool = True
    updateable: bool = True
    filterable: bool = True
    groupable: bool = True
    sortable: bool = True
    aggregatable: bool = True
    permissionable: bool = False
    defaulted_on_create: bool = False
    default: Any = None
    reference_to: tuple[str, ...] = ()
    relationship_name: str | None = None
    cascade_delete: bool = False  # master-detail
    external_id: bool = False
    unique: bool = False
    auto_number: bool = False
    calculated: bool = False
    picklist_values: tuple[str, ...] = ()
    restricted_picklist: bool = False

    @property
    def required_on_create(self) -> bool:
        """Required as Salesforce decides it: not nillable, createable, not defaulted."""
        return not self.nillable and self.createable and not self.defaulted_on_create

    @property
    def id_lookup(self) -> bool:
        """Usable to find a record (upsert key): Id, external ids, and the idLookup fields."""
        return self.name in ("Id", "Username", "Email") or self.external_id

    @property
    def soap_type(self) -> str:
        return {
            "id": "tns:ID",
            "reference": "tns:ID",
            "boolean": "xsd:boolean",
            "int": "xsd:int",
            "double": "xsd:double",
            "currency": "xsd:double",
            "percent": "xsd:double",
            "date": "xsd:date",
            "datetime": "xsd:dateTime",
            "base64": "xsd:base64Binary",
        }.get(self.type, "xsd:string")


@dataclass
class ObjectDef:
    name: str
    key_prefix: str | None
    label: str = ""
    label_plural: str = ""
    fields: dict[str, FieldDef] = field(default_factory=dict)  # lower-case name -> def
    createable: bool = True
    updateable: bool = True
    deletable: bool = True
    queryable: bool = True
    retrieveable: bool = True
    searchable: bool = True
    custom: bool = False
    # Setup objects (users, permissions, apps) cannot share a DML call with data objects.
    setup: bool = False
    # Whether object permissions for it can be granted to an Integration-licence user
    # holding the Salesforce API Integration permission set licence.
    integration_grantable: bool = True
    # Whether ObjectPermissions rows can name it at all (CRUD-controlled data objects).
    permissionable: bool = False
    # How visibility of rows is decided: "crud" (object permissions), "setup" (View Setup),
    # "own_or_perm" (own rows, or all with one of `view_all_permissions`), "public".
    access: str = "crud"
    view_all_permissions: tuple[str, ...] = ()
    write_permissions: tuple[str, ...] = ()
    # Query result caps (OauthToken: 500 per batch, 2,500 in total).
    max_batch_size: int | None = None
    max_total_rows: int | None = None

    def get_field(self, name: str) -> FieldDef | None:
        return self.fields.get(name.lower())

    def relationship(self, name: str) -> FieldDef | None:
        """The reference field whose relationship name is ``name`` (case-insensitive)."""
        lname = name.lower()
        for f in self.fields.values():
            if f.relationship_name and f.relationship_name.lower() == lname:
                return f
        return None

    @property
    def name_field(self) -> FieldDef | None:
        for candidate in ("name", "subject", "casenumber", "ordernumber", "lastname"):
            if candidate in self.fields:
                return self.fields[candidate]
        return None

    def add(self, *defs: FieldDef) -> ObjectDef:
        for d in defs:
            self.fields[d.name.lower()] = d
        return self


@dataclass(frozen=True)
class ChildRelationship:
    child_object: str
    field: str
    relationship_name: str | None
    cascade_delete: bool


class Schema:
    """All object definitions of one org, looked up case-insensitively."""

    def __init__(self, objects: list[ObjectDef] | None = None) -> None:
        self._objects: dict[str, ObjectDef] = {}
        self._by_prefix: dict[str, ObjectDef] = {}
        self._aliases: dict[str, str] = {}
        for obj in objects or []:
            self.add(obj)

    def add(self, obj: ObjectDef) -> None:
        self._objects[obj.name.lower()] = obj
        if obj.key_prefix:
            self._by_prefix[obj.key_prefix] = obj

    def alias(self, alias: str, name: str) -> None:
        """A second accepted spelling (SOQL accepts OAuthToken for OauthToken)."""
        self._aliases[alias.lower()] = name.lower()

    def get(self, name: str) -> ObjectDef | None:
        key = name.lower()
        return self._objects.get(self._aliases.get(key, key))

    def by_prefix(self, key_prefix: str) -> ObjectDef | None:
        return self._by_prefix.get(key_prefix)

    def object_of_id(self, record_id: str) -> ObjectDef | None:
        return self._by_prefix.get(record_id[:3])

    def __iter__(self):
        return iter(sorted(self._objects.values(), key=lambda o: o.name))

    def __contains__(self, name: str) -> bool:
        return self.get(name) is not None

    def child_relationships(self, parent: str) -> list[ChildRelationship]:
        out = []
        for obj in self:
            for f in obj.fields.values():
                if f.type == "reference" and any(
                    t.lower() == parent.lower() for t in f.reference_to
                ):
                    child_name = None
                    if (f.relationship_name and f.cascade_delete) or f.relationship_name:
                        child_name = _plural_relationship(obj.name)
                    out.append(ChildRelationship(obj.name, f.name, child_name, f.cascade_delete))
        return out


def _plural_relationship(name: str) -> str:
    if name.endswith("__c"):
        return name[:-3] + "__r"
    if name.endswith("y") and not name.endswith("ey"):
        return name[:-1] + "ies"
    if name.endswith("s"):
        return name + "es"
    return name + "s"


def with_flags(fdef: FieldDef, **changes: Any) -> FieldDef:
    return replace(fdef, **changes)
