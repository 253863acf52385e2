package api

// SplitBatch exposes splitBatch to the external tests.
var SplitBatch = splitBatch

// DecodeBatch exposes decodeBatch to the external tests.
var DecodeBatch = decodeBatch
