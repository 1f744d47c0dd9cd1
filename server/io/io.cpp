// placeholder: replaced by the AsioEnv implementation.
