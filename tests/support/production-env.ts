// A complete production environment for loadConfig: real-looking secrets, a non-development storage
// account, NODE_ENV=production. Tests spread it and change one thing.
export const PRODUCTION_ENV: Readonly<Record<string, string>> = {
  NODE_ENV: 'production',
  DATABASE_URL: 'postgres://svc:pw@db.internal:5432/payments',
  AZURE_STORAGE_CONNECTION_STRING:
    'DefaultEndpointsProtocol=https;AccountName=prod;AccountKey=a2V5;EndpointSuffix=core.windows.net',
  APP_TOKEN_SECRET: 'a'.repeat(40),
  USER_TOKEN_SECRET: 'b'.repeat(40),
  OTP_ENCRYPTION_KEY: Buffer.alloc(32, 1).toString('base64'),
};
