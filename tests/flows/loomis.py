"""The Loomis scenario as the flow tests run it: every workload's volume divided so a test
ingests in seconds, over DAYS days of history."""

from __future__ import annotations

from pathlib import Path

from emulators.salesforce.scenario import Scenario

LOOMIS = Path(__file__).resolve().parents[2] / "emulators" / "scenarios" / "loomis.yaml"
# Two weeks: the planner's default minimum of days observed (PlanSettings.min_days_observed),
# and many cycles of every Loomis workload (all run at least daily).
DAYS = 14


def scaled(scenario: Scenario, factor: float) -> Scenario:
    """Loomis with every workload's volume divided, so a test ingests in seconds."""
    workloads = [
        w.model_copy(
            update={
                "schedule": w.schedule.model_copy(
                    update={"calls_per_hour": max(2.0, w.schedule.calls_per_hour / factor)}
                )
            }
        )
        for w in scenario.workloads
    ]
    return scenario.model_copy(update={"workloads": workloads})
