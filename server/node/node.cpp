// placeholder: replaced by the node implementation.
