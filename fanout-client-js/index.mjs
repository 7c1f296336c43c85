// The ES module entry of fanout-client: the same class as require('fanout-client') (one file,
// fanout-client.js, serves <script>, require and import alike).
import api from './fanout-client.js';

export const FanoutClient = api.FanoutClient;
