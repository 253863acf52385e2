package api

// SplitBatch exposes splitBatch to the external tests.
var SplitBatch = splitBatch
