/**
 * Transport-neutral request/response shapes shared by the AWS simulator's protocol handlers
 * (EC2 Query in ec2.ts, Route 53 REST-XML in route53.ts) and the HTTP front end in server.ts.
 * Handlers are pure functions from a SimRequest (plus the world state they mutate) to a SimResponse.
 */

/** One HTTP request as the simulator's handlers see it. `headers` keys are lowercase. */
export interface SimRequest {
  method: string;
  path: string;
  query: URLSearchParams;
  headers: Record<string, string>;
  body: string;
}

/** The response a handler produces; server.ts writes it out verbatim. */
export interface SimResponse {
  status: number;
  headers: Record<string, string>;
  body: string;
}
