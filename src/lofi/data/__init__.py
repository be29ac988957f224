"""Training data: windows over the data set's rows, labels, regions, splits (the DataModule follows)."""
