// Package check provides health checkers (TCP, HTTP/HTTPS GET, SMTP, DNS,
// UDP, ICMP, exec script, file, HAProxy agent) with keepalived's and HAProxy's
// rise/fall policies, and a Monitor that runs many targets on one timer
// structure.
package check
