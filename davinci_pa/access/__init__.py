"""Prior-authorization data for members, providers and other payers (CMS-0057-F; docs/access.md).

PDex Prior Authorization resources made from the PAS store, Patient Access search and read,
Provider Access attribution Groups with bulk export, and Payer-to-Payer member matching.
"""
