"""Plausible field values for the records a workload writes, typed by the field
definition and seeded, so runs repeat (external ids excepted: they must never collide)."""

from __future__ import annotations

import random
import uuid
from datetime import date, timedelta
from typing import Any

from ..schema import FieldDef, ObjectDef


class Values:
    """Plausible field values, typed by the field definition (seeded, so runs repeat)."""

    _FIRST = (
        "Ava",
        "Ben",
        "Chen",
        "Diego",
        "Elena",
        "Farah",
        "Gus",
        "Hana",
        "Ivan",
        "Jade",
        "Kofi",
        "Lena",
    )
    _LAST = (
        "Alvarez",
        "Brennan",
        "Cho",
        "Dumont",
        "Eriksen",
        "Fofana",
        "Garcia",
        "Haddad",
        "Ito",
        "Jensen",
    )
    _COMPANIES = (
        "Harbor Goods",
        "Prairie Foods",
        "Vector Parts",
        "Orchard Retail",
        "Keystone Supply",
        "Tidewater Imports",
    )
    _CITIES = (
        ("Columbus", "United States"),
        ("Atlanta", "United States"),
        ("Toronto", "Canada"),
        ("Denver", "United States"),
    )
    _TITLES = (
        "Logistics Manager",
        "Buyer",
        "Supply Chain Analyst",
        "Warehouse Lead",
        "Procurement Director",
    )

    def __init__(self, rng: random.Random, workload: str, today: date) -> None:
        self.rng = rng
        self.workload = workload
        self.today = today
        self.n = 0

    def unique(self, prefix: str = "") -> str:
        # External ids must not collide with earlier runs: random, not seeded.
        return f"{prefix}{uuid.uuid4().hex[:12].upper()}"

    def value(self, obj: ObjectDef, fdef: FieldDef) -> Any:
        self.n += 1
        r, name = self.rng, fdef.name
        if fdef.external_id:
            return self.unique(name.split("_")[0][:4].upper() + "-")
        if fdef.type == "picklist":
            choices = [v for v in fdef.picklist_values if "Converted" not in v] or list(
                fdef.picklist_values
            )
            if obj.name == "Order" and name == "Status":
                return "Activated"  # orders only move forward from Draft
            return r.choice(choices) if choices else None
        if fdef.type == "boolean":
            return r.random() < (0.2 if "OptedOut" in name else 0.8)
        if fdef.type == "date":
            return (self.today + timedelta(days=r.randint(0, 30))).isoformat()
        if fdef.type == "datetime":
            return f"{self.today.isoformat()}T{r.randint(0, 23):02d}:{r.randint(0, 59):02d}:00.000+0000"
        if fdef.type in ("double", "int"):
            return r.randint(1, 40) if name == "Quantity" else r.randint(10, 5000)
        if fdef.type == "currency":
            return round(r.uniform(50, 5000), 2)
        if fdef.type == "percent":
            return r.choice([10, 25, 50, 75, 90])
        if fdef.type == "email":
            return f"{r.choice(self._FIRST)}.{r.choice(self._LAST)}{self.n}@example.com".lower()
        if fdef.type == "phone":
            return f"(555) 555-{r.randint(1000, 9999)}"
        if fdef.type == "url":
            return "https://www.example.com"
        return self._text(obj, fdef)

    def _text(self, obj: ObjectDef, fdef: FieldDef) -> str:
        r, name = self.rng, fdef.name
        if name == "FirstName":
            return r.choice(self._FIRST)
        if name == "LastName":
            return r.choice(self._LAST)
        if name in ("Company", "Name") and obj.name in ("Account", "Lead"):
            return f"{r.choice(self._COMPANIES)} {r.randint(100, 999)}"
        if name == "Name" and obj.name == "Opportunity":
            return (
                f"{r.choice(self._COMPANIES)} - {r.choice(('Peak Season', 'New Lanes', 'Renewal'))}"
            )
        if name == "Name" and obj.name == "Product2":
            return (
                f"{r.choice(('LTL', 'FTL', 'Parcel', 'Cross-dock'))} Service {r.randint(100, 999)}"
            )
        if name.endswith("City"):
            return r.choice(self._CITIES)[0]
        if name.endswith("Country"):
            return r.choice(self._CITIES)[1]
        if name == "Title":
            return r.choice(self._TITLES)
        if name == "PoNumber":
            return f"PO-{r.randint(10000, 99999)}"
        if name in ("ProductCode", "StockKeepingUnit", "AccountNumber"):
            return f"{r.randint(100000, 999999)}"
        if name == "Subject":
            return r.choice(
                ("Delivery delayed", "Damaged freight", "Missing paperwork", "Address change")
            )
        text = f"{self.workload} #{r.randint(1000, 9999)}"
        return text[: fdef.length] if fdef.length else text
