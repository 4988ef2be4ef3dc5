"""Names of what a plan creates: the Integration User and its permission set.

Every name is derived from the finding alone (app name, finding id, org domain), never from
the plan's content, so planning the same integration again after more evidence arrives
names the same user and permission set: apply updates them instead of creating twins.
"""

from __future__ import annotations

import hashlib
import re

from ..errors import ConfigError
from ..models import INTEGRATION_LICENSE, Finding, IntegrationUserSpec
from ..settings import PlanSettings

INTEGRATION_PROFILE = "Minimum Access - API Only Integrations"
INTEGRATION_PSL_LABEL = "Salesforce API Integration"
INTEGRATION_PSL = "SalesforceAPIIntegrationPsl"

MAX_USERNAME, MAX_ALIAS, MAX_API_NAME, MAX_LABEL, MAX_DESCRIPTION = 80, 8, 80, 80, 255
MAX_LAST_NAME = 80
# Salesforce's rule for API names: letters, digits and underscores, a letter first, no
# double underscore (reserved for namespaces and __c), no trailing underscore.
API_NAME = re.compile(r"^[A-Za-z](?!.*__)[A-Za-z0-9_]*(?<![_])$")
_EMAIL = re.compile(r"^[a-z0-9._%+-]+@[a-z0-9-]+(\.[a-z0-9-]+)+$")
_FINDING_HEX = re.compile(r"^f-([0-9a-f]{8})[0-9a-f]*$")


def display_name(app_name: str) -> str:
    """The app as people name it: an API client's version suffix dropped
    ("DataLoaderBatch/59.0.0" -> "DataLoaderBatch")."""
    name = app_name.split("/", 1)[0].strip() or app_name.strip()
    return name or "Integration"


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-") or "integration"


def finding_digits(finding_id: str) -> str:
    """Eight hex digits that tie the permission set to its finding."""
    m = _FINDING_HEX.match(finding_id)
    return m.group(1) if m else hashlib.sha256(finding_id.encode()).hexdigest()[:8]


def mail_domain(finding: Finding, org_domain: str | None) -> str:
    domain = org_domain or finding.username.rpartition("@")[2]
    return domain.strip().lower()


def username(app_name: str, domain: str, settings: PlanSettings) -> str:
    """From the template, lower-case, at most 80 characters (the app slug gives way)."""
    slug = _slug(display_name(app_name))
    fixed = len(settings.username_template.format(app="", domain=domain))
    if fixed + 1 > MAX_USERNAME:
        raise ConfigError(
            f"HANDOVER_PLAN__USERNAME_TEMPLATE leaves no room for the app in {MAX_USERNAME} "
            f"characters with domain {domain!r}: shorten the template"
        )
    slug = slug[: MAX_USERNAME - fixed].strip("-") or "integration"[: MAX_USERNAME - fixed]
    name = settings.username_template.format(app=slug, domain=domain).lower()
    if not _EMAIL.match(name):
        raise ConfigError(
            f"HANDOVER_PLAN__USERNAME_TEMPLATE gives {name!r}, which is not an email address: "
            "fix the template or pass the org's mail domain"
        )
    return name


def alias(app_name: str, settings: PlanSettings) -> str:
    letters = re.sub(r"[^a-z0-9]", "", display_name(app_name).lower()) or "intg"
    return (settings.alias_prefix + letters)[:MAX_ALIAS]


def permission_set_name(app_name: str, finding_id: str, settings: PlanSettings) -> str:
    """HO_<App>_<finding digits>, within the API-name rules and 80 characters."""
    words = re.sub(r"[^A-Za-z0-9]+", "_", display_name(app_name)).strip("_") or "Integration"
    digits = finding_digits(finding_id)
    room = MAX_API_NAME - len(settings.permission_set_prefix) - len(digits) - 2
    name = f"{settings.permission_set_prefix}_{words[:room].strip('_')}_{digits}"
    assert API_NAME.match(name), name  # the prefix is validated, the rest is built to fit
    return name


def permission_set_label(app_name: str) -> str:
    return clip(f"{display_name(app_name)} integration (handover)", MAX_LABEL)


def clip(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def integration_user(
    finding: Finding, app_name: str, org_domain: str | None, settings: PlanSettings
) -> IntegrationUserSpec:
    domain = mail_domain(finding, org_domain)
    return IntegrationUserSpec(
        username=username(app_name, domain, settings),
        alias=alias(app_name, settings),
        email=settings.owner_mailbox.format(app=_slug(display_name(app_name)), domain=domain),
        first_name=settings.first_name,
        last_name=clip(display_name(app_name), MAX_LAST_NAME),
        profile=INTEGRATION_PROFILE,
        license=INTEGRATION_LICENSE,
        permission_set_license=INTEGRATION_PSL_LABEL,
        time_zone=settings.time_zone,
        locale=settings.locale,
        language=settings.language,
        email_encoding=settings.email_encoding,
    )
