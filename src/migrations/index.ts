import { Migration20261129000000_initial } from './Migration20261129000000_initial';

/** Every migration in order, listed explicitly so they run the same from dist/ and under jest. */
export const MIGRATIONS = [{ name: 'Migration20261129000000_initial', class: Migration20261129000000_initial }];
