// Package taxii is a TAXII 2.1 server (OASIS TAXII 2.1 CS01) as an
// http.Handler, generic over STIX objects, over a pluggable Store with
// an in-memory implementation (MemStore).
//
// The server knows an object only by the fields it needs: id, type,
// spec_version, created and modified, plus its raw JSON bytes, which it
// stores and serves unchanged. The version of an object is its modified
// timestamp, else its created timestamp, else (for cyber-observables
// that carry neither) the date the server added it.
//
// Endpoints (every path ends with a slash):
//
//	GET    /taxii2/                                          discovery
//	GET    /{root}/                                          API root
//	GET    /{root}/status/{status-id}/                       status of a POST
//	GET    /{root}/collections/                              collections
//	GET    /{root}/collections/{id}/                         one collection
//	GET    /{root}/collections/{id}/objects/                 objects (envelope)
//	POST   /{root}/collections/{id}/objects/                 add objects (202 + status)
//	GET    /{root}/collections/{id}/objects/{object-id}/     one object (envelope)
//	DELETE /{root}/collections/{id}/objects/{object-id}/     delete an object
//	GET    /{root}/collections/{id}/objects/{object-id}/versions/
//	GET    /{root}/collections/{id}/manifest/
//
// Every request is authenticated (Authenticator: HTTP Basic, API keys,
// TLS client certificates) and collections are authorized per principal
// (Policy). Responses and errors are application/taxii+json;version=2.1;
// errors are TAXII error resources.
//
// Paging: a response holds at most limit items (clamped to the
// server's maximum); when more match, "more" is true and "next" is an
// opaque token the client sends back with the same filters. Date added
// has microsecond precision and is strictly increasing per collection,
// so a client can also bookmark with added_after, taken from the
// X-TAXII-Date-Added-Last header.
package taxii
