"""certbound's engine: networks, properties, bounds, branch and bound, certificates.

No web or database imports live here. Modules that need PyTorch are imported lazily,
so that the API process (which only validates uploads) never loads torch.
"""
