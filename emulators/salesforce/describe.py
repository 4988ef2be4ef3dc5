"""describeGlobal and describeSObject bodies, in the shape of the recorded real responses."""

from __future__ import annotations

from typing import Any

from .access import EffectiveAccess
from .schema import FieldDef, ObjectDef

_URL_KEYS = (
    "compactLayouts",
    "rowTemplate",
    "approvalLayouts",
    "defaultValues",
    "listviews",
    "describe",
    "quickActions",
    "layouts",
    "sobject",
)


def _urls(obj: ObjectDef, version: str) -> dict[str, str]:
    base = f"/services/data/v{version}/sobjects/{obj.name}"
    return {
        "compactLayouts": f"{base}/describe/compactLayouts",
        "rowTemplate": f"{base}/{{ID}}",
        "approvalLayouts": f"{base}/describe/approvalLayouts",
        "defaultValues": f"{base}/defaultValues?recordTypeId&fields",
        "listviews": f"{base}/listviews",
        "describe": f"{base}/describe",
        "quickActions": f"{base}/quickActions",
        "layouts": f"{base}/describe/layouts",
        "sobject": base,
    }


def object_summary(
    obj: ObjectDef, access: EffectiveAccess, version: str, *, can_write: dict[str, bool]
) -> dict[str, Any]:
    """One entry of describeGlobal's ``sobjects`` (also the ``objectDescribe`` of /sobjects/X)."""
    return {
        "activateable": False,
        "associateEntityType": None,
        "associateParentEntity": None,
        "createable": can_write["create"],
        "custom": obj.custom,
        "customSetting": False,
        "deepCloneable": False,
        "deletable": can_write["delete"],
        "deprecatedAndHidden": False,
        "feedEnabled": not obj.setup,
        "hasSubtypes": False,
        "isInterface": False,
        "isSubtype": False,
        "keyPrefix": obj.key_prefix,
        "label": obj.label,
        "labelPlural": obj.label_plural,
        "layoutable": not obj.setup,
        "mergeable": obj.name in ("Account", "Contact", "Lead", "Case"),
        "mruEnabled": not obj.setup,
        "name": obj.name,
        "queryable": obj.queryable,
        "replicateable": obj.queryable,
        "retrieveable": obj.retrieveable,
        "searchable": obj.searchable and not obj.setup,
        "triggerable": not obj.setup,
        "undeletable": not obj.setup,
        "updateable": can_write["update"],
        "urls": {
            k: v
            for k, v in _urls(obj, version).items()
            if k in ("rowTemplate", "describe", "sobject") or not obj.setup
        },
    }


def field_describe(fdef: FieldDef, *, createable: bool, updateable: bool) -> dict[str, Any]:
    is_text = fdef.type not in (
        "boolean",
        "int",
        "double",
        "currency",
        "percent",
        "date",
        "datetime",
        "base64",
    )
    length = fdef.length if is_text else 0
    return {
        "aggregatable": fdef.aggregatable and fdef.type not in ("textarea", "base64"),
        "aiPredictionField": False,
        "autoNumber": fdef.auto_number,
        "byteLength": length * 3 if length and fdef.type not in ("id", "reference") else length,
        "calculated": fdef.calculated,
        "calculatedFormula": None,
        "cascadeDelete": fdef.cascade_delete,
        "caseSensitive": False,
        "compoundFieldName": None,
        "controllerName": None,
        "createable": createable,
        "custom": fdef.name.endswith("__c"),
        "defaultValue": fdef.default if fdef.type == "boolean" else None,
        "defaultValueFormula": None,
        "defaultedOnCreate": fdef.defaulted_on_create,
        "dependentPicklist": False,
        "deprecatedAndHidden": False,
        "digits": 9 if fdef.type == "int" else 0,
        "displayLocationInDecimal": False,
        "encrypted": False,
        "externalId": fdef.external_id,
        "extraTypeInfo": None,
        "filterable": fdef.filterable,
        "filteredLookupInfo": None,
        "formulaTreatNullNumberAsZero": False,
        "groupable": fdef.groupable,
        "highScaleNumber": False,
        "htmlFormatted": False,
        "idLookup": fdef.id_lookup,
        "inlineHelpText": None,
        "label": fdef.label,
        "length": length,
        "mask": None,
        "maskType": None,
        "name": fdef.name,
        "nameField": fdef.name in ("Name",),
        "namePointing": len(fdef.reference_to) > 1,
        "nillable": fdef.nillable,
        "permissionable": fdef.permissionable,
        "picklistValues": [
            {
                "active": True,
                "defaultValue": v == fdef.default,
                "label": v,
                "validFor": None,
                "value": v,
            }
            for v in fdef.picklist_values
        ],
        "polymorphicForeignKey": len(fdef.reference_to) > 1,
        "precision": 18 if fdef.type in ("double", "currency", "percent") else 0,
        "queryByDistance": False,
        "referenceTargetField": None,
        "referenceTo": list(fdef.reference_to),
        "relationshipName": fdef.relationship_name,
        "relationshipOrder": 0 if fdef.cascade_delete else None,
        "restrictedDelete": False,
        "restrictedPicklist": fdef.restricted_picklist,
        "scale": 2 if fdef.type in ("currency", "percent", "double") else 0,
        "searchPrefilterable": False,
        "soapType": fdef.soap_type,
        "sortable": fdef.sortable,
        "type": fdef.type,
        "unique": fdef.unique,
        "updateable": updateable,
        "writeRequiresMasterRead": fdef.cascade_delete,
    }
