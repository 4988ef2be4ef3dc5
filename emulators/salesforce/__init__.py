"""A local Salesforce org over HTTPS, faithful to the wire (see README "The emulator").

Layout (moto style): the backend owns the rules and the state (``org.py`` and friends),
the HTTP layer owns the wire format (``http/``), ``exceptions.py`` carries the real error
codes. simple-salesforce talks to it unmodified.
"""
