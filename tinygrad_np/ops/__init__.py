"""Every differentiable op of tinygrad_np: one `Function` subclass each, forward next to backward."""
