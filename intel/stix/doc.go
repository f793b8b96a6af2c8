// Package stix holds the STIX 2.1 objects acd emits and reads, the TLP
// 2.0 markings, deterministic identifiers and validation.
//
// Reading: Parse and ParseBundle keep each object's JSON whole (Object),
// with the common properties parsed, so that what acd forwards keeps the
// properties it does not know. Typed structs (Indicator, Infrastructure,
// Relationship, ...) serve emission and Object.Decode.
//
// Emitting: FromSuspect turns a detect.Suspect into an indicator, one
// infrastructure per role and "indicates" relationships; FromMitigation
// turns a case outcome into a course-of-action and a "mitigates"
// relationship. Every emitted object carries created_by_ref and exactly
// one TLP 2.0 marking (the OASIS marking-definition ids). Ids are
// UUIDv5: SCOs per the specification (namespace
// 00abedb4-aa42-466c-9c01-fed23315a9b7 over the RFC 8785 JSON of the ID
// contributing properties), acd's SDOs and SROs under ACDNamespace over
// "type|creator|address|role", so a re-emitted suspect keeps its ids and
// gets a new modified. Versions keep id and created and bump modified
// (Object.NewVersion, Carry); revocation is a version with revoked true.
//
// Wire format: JSON objects as in the STIX 2.1 specification (OASIS CS
// 2.1, 2021), timestamps RFC 3339 UTC with milliseconds
// ("2026-11-26T13:44:26.000Z").
//
// Validation: Validate checks an object against the OASIS JSON schemas
// (embedded in schemas/, no network) and the rules they cannot express:
// modified ≥ created and other time ranges, pattern syntax (package
// pattern), reference types, id prefix and UUID form. ValidateOutgoing
// adds acd's rules for what leaves (creator, exactly one TLP 2.0
// marking).
package stix
