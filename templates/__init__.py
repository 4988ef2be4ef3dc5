"""The jinja2 templates (package data): Slack Block Kit messages (slack/), Markdown reports
and artifact bodies (reports/). Every word people read is here; handover.render loads them
through importlib.resources, so an installed handover finds them wherever it runs."""
