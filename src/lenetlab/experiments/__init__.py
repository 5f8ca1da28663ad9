"""One module per result of the document. Each takes loaded data and a frozen config and
returns a plain result object; none reads or writes files."""
