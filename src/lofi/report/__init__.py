"""Reports: label-quality tables and figures (Table II and CDFs follow with training)."""
