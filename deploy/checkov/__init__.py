# Makes checkov load the suite's checks from this directory.
