"""Request bodies (`…InputSerializer`) and answers of the clinical API, one module per
resource. Inputs only validate shapes; the services decide everything else."""
