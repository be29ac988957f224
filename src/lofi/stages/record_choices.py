"""Defaults and choices of ``lofi record`` and ``lofi track``, importable without numpy or pandas
(the command line's parser reads them)."""

#: Serial baud rate of the ESP32 CSI firmwares (esp-csi, esp-radar examples), bit/s.
DEFAULT_BAUD = 921600
#: Ways ``lofi record`` makes traffic; the first is the default.
PING_METHODS = ("udp", "icmp")
DEFAULT_PING_METHOD = PING_METHODS[0]
#: Packets per second the host sends by default (Hz): the LoFi recordings' ping rate.
DEFAULT_PING_HZ = 100.0
#: UDP port the packets go to by default: discard (9); a router answers a closed port with ICMP.
DEFAULT_UDP_PORT = 9
