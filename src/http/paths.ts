// Where each door is mounted, for the plumbing that sits in front of all of them (CORS, metrics labels).
export const GRAPHQL_PATH = '/graphql';
