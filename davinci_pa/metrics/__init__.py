"""CMS-0057-F public prior-authorization metrics (docs/metrics.md).

The nine metrics of a calendar year from the PAS store, under documented counting rules,
as JSON, CSV or an HTML page with server-made SVG charts.
"""
