package transport

// sysSendmmsg is sendmmsg's number, which package syscall leaves out on
// amd64.
const sysSendmmsg = 307
