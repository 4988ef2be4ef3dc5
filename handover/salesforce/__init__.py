"""The gateway to a Salesforce org. Nothing above this package imports simple_salesforce."""

from .gateway import SalesforceGateway

__all__ = ["SalesforceGateway"]
