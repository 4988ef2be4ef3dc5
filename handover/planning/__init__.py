"""The parts of least-privilege planning; ``handover.plan`` is the public entry."""
