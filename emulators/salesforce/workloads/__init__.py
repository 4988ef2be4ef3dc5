"""A scenario's workloads as their external systems run them: MuleSoft, HubSpot, a Data
Loader batch, a Python script. Someone else's software, driving the emulated org over real
HTTPS with unmodified simple-salesforce.

* ``credentials``: the credential source each workload reads at every run (the cutover
  contract: handover's ``file`` sink rewrites it) and the login it describes;
* ``runner``: one run of a workload, a login and calls of its mix (what verification and
  the emulator's live clock drive);
* ``values``: the field values it writes; ``results``: what a run reports.

``python -m emulators.salesforce.workloads --info FILE --scenario FILE --workload NAME
--calls N`` runs workloads from the command line (``__main__``).
"""

from .credentials import credential_file, login, read_credentials, slug, write_credentials
from .results import CallOutcome, LoginFailed, WorkloadResult, error_of
from .runner import plan_calls, run_all, run_workload

__all__ = [
    "CallOutcome",
    "LoginFailed",
    "WorkloadResult",
    "credential_file",
    "error_of",
    "login",
    "plan_calls",
    "read_credentials",
    "run_all",
    "run_workload",
    "slug",
    "write_credentials",
]
