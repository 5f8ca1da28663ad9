"""One module per part of the report: experiment result in, `report.Section` (with figures) out."""
