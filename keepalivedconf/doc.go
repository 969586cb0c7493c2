// Package keepalivedconf is a lossless codec and typed model for
// keepalived.conf, with include handling, keepalived's macro and conditional
// expansion, validation and lint.
package keepalivedconf
