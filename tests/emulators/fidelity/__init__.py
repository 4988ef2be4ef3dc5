"""Fidelity tests: the emulator's answers against recorded real Salesforce traffic."""
