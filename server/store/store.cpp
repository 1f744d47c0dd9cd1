// placeholder: replaced by the store implementation.
