// A testcontainers GenericContainer pinned to one address on one network, so a node's address survives restarts.

import { GenericContainer, type StartedNetwork } from 'testcontainers';

/** A container that joins `network` at the fixed IPv4 address `ip` (the network must have a configured subnet). */
export class FixedIpContainer extends GenericContainer {
  constructor(image: string, network: StartedNetwork, ip: string) {
    super(image);
    this.withNetwork(network);
    this.createOpts.NetworkingConfig = {
      EndpointsConfig: { [network.getName()]: { IPAMConfig: { IPv4Address: ip } } },
    };
  }
}
