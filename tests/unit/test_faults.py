"""Fault rules fire by call count, every N-th call, or by (seeded) probability."""

from emulators.salesforce.faults import FaultInjector, FaultRule


def test_nth_calls_on_matching_endpoint_only():
    inj = FaultInjector()
    inj.add(
        FaultRule(kind="UNABLE_TO_LOCK_ROW", path="/sobjects/Order", method="PATCH", nth=[2, 3])
    )
    fired = [
        inj.check("PATCH", "/services/data/v59.0/sobjects/Order/801x") is not None for _ in range(4)
    ]
    assert fired == [False, True, True, False]
    assert inj.check("GET", "/services/data/v59.0/sobjects/Order/801x") is None


def test_every_and_max_count():
    inj = FaultInjector()
    inj.add(FaultRule(kind="503", every=2, max_count=2))
    fired = [inj.check("GET", "/x") is not None for _ in range(8)]
    assert fired == [False, True, False, True, False, False, False, False]


def test_probability_is_seeded_and_repeatable():
    def run(seed):
        inj = FaultInjector(seed=seed)
        inj.add(FaultRule(kind="REQUEST_LIMIT_EXCEEDED", probability=0.3))
        return [inj.check("GET", "/q") is not None for _ in range(200)]

    assert run(1) == run(1)
    assert 30 < sum(run(1)) < 90


def test_kinds_answer_like_salesforce():
    assert FaultRuleKinds.body("REQUEST_LIMIT_EXCEEDED") == (
        403,
        [{"message": "TotalRequests Limit exceeded.", "errorCode": "REQUEST_LIMIT_EXCEEDED"}],
    )
    assert FaultRuleKinds.body("INVALID_SESSION_ID")[0] == 401
    assert FaultRuleKinds.body("503")[0] == 503
    slow = FaultInjector()
    slow.add(FaultRule(kind="slow", delay_seconds=1.5))
    fault = slow.check("GET", "/q")
    assert fault is not None and fault.delay_seconds == 1.5 and fault.response() is None


class FaultRuleKinds:
    @staticmethod
    def body(kind):
        from emulators.salesforce.faults import Fault

        return Fault(kind).response()
