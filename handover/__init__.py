"""handover: move Salesforce integrations off human accounts onto least-privilege
Integration Users. The core is importable without Prefect running."""

__version__ = "0.1.0"
