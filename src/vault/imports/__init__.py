"""Reading registration workbooks and CSV files, and writing rejects workbooks."""
