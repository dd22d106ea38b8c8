"""One module per group of claims; each exports ``CLAIMS`` (a list of :class:`nnqg.verify.Claim`)."""
