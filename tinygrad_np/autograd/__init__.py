"""The autograd engine: recorded ops (`Function`), the backward pass, grad mode and anomaly checks."""
