/* rtnetlink through libmnl: the few link, address and route changes the agent makes. */
#ifndef KW_AGENT_NETLINK_H
#define KW_AGENT_NETLINK_H

#include <stdbool.h>

#include "cidr.h"

/* Interface index of ifname; -ENODEV. */
int netlink_ifindex(const char *ifname);
/* Bring a link up or down, and set its MTU when mtu > 0. */
int netlink_link_set(int ifindex, bool up, int mtu);
/* Add (replacing) or delete an address. Deleting a missing one is not an error. */
int netlink_address(int ifindex, const struct kw_cidr *addr, bool add);
/* Add (replacing) or delete a route to net through the interface. Idem. */
int netlink_route(int ifindex, const struct kw_cidr *net, bool add);

#endif
