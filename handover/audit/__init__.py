"""Least privilege over time (pure): what an Integration User holds against what it used
(``proposal.py``), a proposal as org writes (``changes.py``), and an emergency revoke as
org writes (``revocation.py``). No I/O here: the shell reads and applies."""
