"""Selection: declarative keep/drop rules over corpus and attribute columns, and the stage applying them."""
