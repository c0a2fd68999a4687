// Package appmesh holds the App Mesh API's resource shapes, their
// validation (the model's constraints plus the service's cross-field rules),
// ARNs and errors. The shapes are generated from botocore's model.
package appmesh

//go:generate go run ./internal/gen -out .
