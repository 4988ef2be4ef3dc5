"""The gateway to a Salesforce org. Nothing above this package imports simple_salesforce."""

from .gateway import EventLogFileMeta, SalesforceGateway

__all__ = ["EventLogFileMeta", "SalesforceGateway"]
