"""The plan templates, rendered from hand-built plans: the Markdown artifact shows the diff,
the permissions, their provenance and the blockers; the Slack message stays within Block
Kit's limits (the project's own checks and slack_sdk's models) even for a 60-object plan."""

from __future__ import annotations

import json
from typing import Any

import pytest

from handover.models import AccessPlan, PlanRefusal
from handover.render import MAX_PLAN_OBJECTS, render_plan_blocks, render_plan_markdown
from tests.blockkit import assert_slack_accepts
from tests.unit.test_plan import admin, fe, finding, make_inputs, op, plan_of, refusal_of

RUN_URL = "http://127.0.0.1:4200/runs/flow-run/7061181e-0000-4000-8000-000000000001"


def mule_plan() -> AccessPlan:
    return plan_of(
        make_inputs(
            [
                op(
                    "Account",
                    "query",
                    1000,
                    example="SELECT Id, Name FROM Account WHERE ERP_Id__c != null",
                ),
                op("Product2", "query", 990),
                op("Order", "upsert", 3000),
                op("Order", "create", 1000),
                op("OrderItem", "create", 3000),
                op("Order", "update", 1500),
                op("OrderItem", "delete", 200),
            ],
            fields=[fe("Account.Industry"), fe("Account.Id")],
        )
    )


def blocked_plan() -> AccessPlan:
    plan = plan_of(make_inputs([op("Account", "query"), op("Invoice__c", "create", 40)]))
    assert plan.status == "blocked"
    return plan


def refusal() -> PlanRefusal:
    return refusal_of(make_inputs([op("Account", "query")], days=9))


def big_plan() -> AccessPlan:
    """60 objects with long names and 20 fields each, 12 of them not grantable."""
    names = [f"Warehouse_Consignment_Line_Item_{i:02d}__c" for i in range(60)]
    describe = {n: [f"Field_{j:02d}__c" for j in range(20)] for n in names}
    plan = plan_of(
        make_inputs(
            [op(n, "upsert", 10 + i) for i, n in enumerate(names)]
            + [op(n, "delete", 3) for n in names[::2]],
            permissionable_fields=describe,
            readonly_fields={},
            master_detail={},
            grantable_objects=frozenset(names[12:]),
            finding=finding(app_name="Acme <Fulfilment> & Returns | Sync " + "x" * 120),
        )
    )
    assert len(plan.permission_set.object_permissions) == 48 and len(plan.blockers) == 12
    return plan


def _texts(blocks: list[dict[str, Any]]) -> str:
    return json.dumps(blocks, ensure_ascii=False)


# ---------------------------------------------------------------------- Markdown


def test_markdown_leads_with_the_headline_and_the_diff() -> None:
    plan = mule_plan()
    md = render_plan_markdown(plan)
    assert md.startswith(
        "# Plan: MuleSoft NetSuite Connector → svc.mulesoft-netsuite-connector@loomis-logistics.com"
    )
    assert f"> **{plan.headline}**" in md
    assert "Dana Reyes had System Administrator: Modify All Data, 412 objects" in plan.headline
    assert "**Ready for approval.**" in md and plan.hash[:12] in md
    assert "| System permissions | 3, including **Modify All Data** | API Enabled |" in md
    assert "| Objects | 412 readable | 4 |" in md


def test_markdown_permission_table_in_creation_order() -> None:
    md = render_plan_markdown(mule_plan())
    rows = [
        line
        for line in md.splitlines()
        if line.startswith("| Order") or line.startswith("| Account |")
    ]
    assert "| Account | ✓ |  |  |  |  |  |" in rows
    assert "| Order | ✓ | ✓ | ✓ |  |  |  |" in rows
    assert "| OrderItem | ✓ | ✓ | ✓ | ✓ |  |  |" in rows
    assert rows.index("| Order | ✓ | ✓ | ✓ |  |  |  |") < rows.index(
        "| OrderItem | ✓ | ✓ | ✓ | ✓ |  |  |"
    )


def test_markdown_provenance_says_why_for_every_permission() -> None:
    plan = mule_plan()
    md = render_plan_markdown(plan)
    assert (
        "| Delete OrderItem | delete ×200 | 200 | 2026-10-05 | 2026-11-03 | delete OrderItem |"
        in md
    )
    assert "| Edit OrderItem | required by Delete OrderItem |  | — | — |  |" in md
    assert (
        "| Read Order | required by Create Order, Edit Order, Read OrderItem (master-detail) |"
        in md
    )
    assert "| Read Account.Industry | read ×50 |" in md
    # Grouped per object; fields resting on the same calls share one row.
    provenance = md[md.index("## Provenance") : md.index("## Evidence window")]
    assert provenance.index("| **Order** |") < provenance.index("| **Product2** |")
    assert (
        "| Read 3 fields of Product2: ERP_Id__c, Family, ProductCode | query on the object "
        "×990 (no field list) |" in provenance
    )
    assert (
        "| Read 4 fields of Order: Description, ERP_Order_Id__c, PoNumber, ShippingCity | "
        "required by Edit of each of these fields |" in provenance
    )
    assert "| **The user and the app** |" in provenance
    # Every permission of the plan is there: its own row, or its field in its object's row.
    for p in plan.provenance:
        name = p.target.split(".", 1)[-1] if p.kind == "field" else p.permission
        assert name in provenance, p.permission
    assert provenance.count("\n|") < len(plan.provenance)  # fewer rows than permissions


def test_markdown_evidence_window_fields_and_raw_evidence() -> None:
    md = render_plan_markdown(mule_plan())
    assert "| Cadence | daily (a cycle of 1 day) |" in md
    assert "| Full cycles observed | 30 (2 needed) |" in md
    assert "Field-level evidence: **observed**" in md
    assert "| Account | fields in the logs | — | 1 | 0 | Id |" in md
    assert (
        "| Account | query | 1,000 | 2026-10-05 | 2026-11-03 | SELECT Id, Name FROM Account WHERE ERP_Id__c != null |"
        in md
    )


def test_markdown_shows_blockers() -> None:
    md = render_plan_markdown(blocked_plan())
    assert "**Blocked.**" in md and "Ready for approval" not in md
    assert "## Blockers" in md
    assert "| Invoice__c | Read, Create | Invoice__c cannot be granted" in md


def test_markdown_refusal_says_what_is_missing() -> None:
    md = render_plan_markdown(refusal())
    assert md.startswith(
        "# No plan: MuleSoft NetSuite Connector as dana.reyes@loomis-logistics.com"
    )
    assert "**Insufficient evidence.**" in md
    assert "- Only 9 days of logs observed; a plan needs at least 14." in md
    assert "| Days observed | 9 of 9 |" in md
    assert "## Object permissions" not in md


def test_markdown_table_cells_survive_pipes_and_newlines() -> None:
    plan = plan_of(
        make_inputs(
            [op("Account", "query", example="SELECT Id FROM Account WHERE A = 'x|y'\nLIMIT 5")]
        )
    )
    md = render_plan_markdown(plan)
    row = next(line for line in md.splitlines() if line.startswith("| Account | query |"))
    assert row.count(" | ") == 5 and "x\\|y" in row


def test_markdown_renders_a_big_plan() -> None:
    plan = big_plan()
    md = render_plan_markdown(plan)
    assert md.count("\n| Warehouse_Consignment_Line_Item_") >= 48 + 12
    assert "12 blockers below" in md


# ---------------------------------------------------------------------- Slack Block Kit


@pytest.mark.parametrize(
    "make", [mule_plan, blocked_plan, refusal, big_plan], ids=lambda f: f.__name__
)
def test_blocks_pass_slacks_limits(make: Any) -> None:
    plan = make()
    blocks = render_plan_blocks(plan, run_url=RUN_URL)
    assert_slack_accepts(blocks, plan.headline)
    assert blocks[0]["type"] == "header"


def test_blocks_lead_with_the_headline() -> None:
    plan = mule_plan()
    blocks = render_plan_blocks(plan)
    assert blocks[0]["text"]["text"] == "Plan · MuleSoft NetSuite Connector → Integration User"
    assert blocks[1]["text"]["text"].startswith(f"*{plan.headline}*\nReady for approval.")
    objects = next(
        b for b in blocks if b.get("text", {}).get("text", "").startswith("*Object permissions*")
    )
    assert objects["text"]["text"].splitlines() == [
        "*Object permissions*",
        "`Account` Read",
        "`Order` Read · Create · Edit",
        "`Product2` Read",
        "`OrderItem` Read · Create · Edit · Delete",
    ]
    assert "plan hash `" + plan.hash[:12] + "`" in _texts(blocks)


def test_blocks_list_blockers_and_never_say_ready() -> None:
    blocks = render_plan_blocks(blocked_plan())
    text = _texts(blocks)
    assert blocks[0]["text"]["text"].startswith("Blocked plan · ")
    sections = [b["text"]["text"] for b in blocks if b["type"] == "section" and "text" in b]
    assert any(
        t.startswith("*Blockers*\n• `Invoice__c` Read · Create: Invoice__c cannot be granted")
        for t in sections
    )
    assert "Ready for approval" not in text


def test_blocks_for_a_refusal_give_the_reasons() -> None:
    blocks = render_plan_blocks(refusal())
    assert blocks[0]["text"]["text"] == "Not enough evidence to plan · MuleSoft NetSuite Connector"
    why = blocks[2]["text"]["text"]
    assert why.startswith("*Why*\n• Only 9 days of logs observed")


def test_a_big_plan_counts_what_it_cannot_list() -> None:
    plan = big_plan()
    blocks = render_plan_blocks(plan, run_url=RUN_URL)
    text = _texts(blocks)
    assert f"…and {48 - MAX_PLAN_OBJECTS} more objects in <{RUN_URL}|the Prefect artifact>" in text
    assert "…and 6 more in <" in text  # blockers beyond the 6 listed
    assert len(blocks[0]["text"]["text"]) <= 150


def test_org_data_is_escaped_for_mrkdwn_but_not_in_plain_text() -> None:
    plan = big_plan()
    blocks = render_plan_blocks(plan)
    assert "Acme <Fulfilment> & Returns" in blocks[0]["text"]["text"]  # plain_text: as typed
    mrkdwn = " ".join(
        b["text"]["text"] for b in blocks[1:] if b["type"] == "section" and "text" in b
    )
    assert "<Fulfilment>" not in mrkdwn


def test_a_human_with_odd_characters_renders() -> None:
    human = admin(name="Zoë <script> & Co", username="zoe@x.example")
    f = finding(username="zoe@x.example")
    plan = plan_of(make_inputs([op("Account", "query")], human=human, finding=f))
    blocks = render_plan_blocks(plan)
    assert_slack_accepts(blocks, plan.headline)
    assert "Zoë &lt;script&gt; &amp; Co" in blocks[1]["text"]["text"]
