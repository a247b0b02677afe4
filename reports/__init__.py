"""Reports: per-day rollups of the tickets, customer satisfaction and bot statistics,
and the Reports page that reads them.

- models: the rollup tables and the bots' reported conversation counts
- rollups: the upkeep, live (`ticket_changed`, called by desk.services) and from scratch
- figures: medians, percentiles and rates from the rollups' sums and histograms
- selectors: the reads behind the page, its CSV downloads and the charts
- api: the bot API's stats endpoint (and the rating, which desk.services records)
"""
