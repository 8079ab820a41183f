/**
 * The sandbox's fake retail world: retailers (with currency, tax, time zone, popularity) and the
 * items they sell. Prices are in US cents and converted per currency; the generator turns them
 * into minor units with the currency's ISO 4217 exponent.
 */

export interface Retailer {
  name: string;
  currency: string;
  /** Relative popularity (how often it is picked). */
  weight: number;
  /** Fixed UTC offset in minutes for placed_at. */
  tzMinutes: number;
  /** Sales tax on the subtotal, in basis points (0 where prices include VAT). */
  taxBp: number;
  /** Flat shipping in US cents when the order is under the free-shipping threshold. */
  shippingCents: number;
  freeShippingCents: number;
  skuPrefix: string;
  categories: readonly string[];
  postal: 'us' | 'eu' | 'uk' | 'jp' | 'kw' | 'ca';
}

/** Major-unit conversion from US cents: amount in USD * rate = amount in the currency. */
export const FX: Record<string, number> = { USD: 1, EUR: 0.92, GBP: 0.79, JPY: 150, KWD: 0.307, CAD: 1.37 };

const US = { tzMinutes: -300, taxBp: 825, shippingCents: 599, freeShippingCents: 3500, postal: 'us' } as const;

export const RETAILERS: readonly Retailer[] = [
  { name: 'Amazon', currency: 'USD', weight: 30, ...US, skuPrefix: 'AMZ', categories: ['Electronics', 'Books', 'Home', 'Grocery', 'Toys', 'Beauty'] },
  { name: 'Walmart', currency: 'USD', weight: 16, ...US, tzMinutes: -360, skuPrefix: 'WMT', categories: ['Grocery', 'Home', 'Toys', 'Electronics', 'Beauty'] },
  { name: 'Target', currency: 'USD', weight: 13, ...US, skuPrefix: 'TGT', categories: ['Grocery', 'Home', 'Apparel', 'Beauty', 'Toys'] },
  { name: "Macy's", currency: 'USD', weight: 6, ...US, skuPrefix: 'MCY', categories: ['Apparel', 'Beauty', 'Home'] },
  { name: 'Best Buy', currency: 'USD', weight: 4, ...US, tzMinutes: -360, skuPrefix: 'BBY', categories: ['Electronics'] },
  { name: 'REI', currency: 'USD', weight: 3, ...US, tzMinutes: -480, skuPrefix: 'REI', categories: ['Outdoor', 'Apparel'] },
  { name: 'Costco', currency: 'USD', weight: 3, ...US, tzMinutes: -480, skuPrefix: 'CST', categories: ['Grocery', 'Home', 'Electronics'] },
  { name: 'The Home Depot', currency: 'USD', weight: 2, ...US, skuPrefix: 'THD', categories: ['Hardware', 'Home'] },
  { name: 'Chewy', currency: 'USD', weight: 2, ...US, skuPrefix: 'CHW', categories: ['Pets'] },
  { name: 'Etsy: Juniper & Clay', currency: 'USD', weight: 1, ...US, tzMinutes: -420, taxBp: 0, skuPrefix: 'ETSY-JC', categories: ['Handmade'] },
  { name: 'Etsy: Northwind Knits', currency: 'USD', weight: 1, ...US, taxBp: 0, skuPrefix: 'ETSY-NK', categories: ['Handmade', 'Apparel'] },
  { name: 'Etsy: Atelier Lumière', currency: 'EUR', weight: 1, tzMinutes: 60, taxBp: 0, shippingCents: 890, freeShippingCents: 9000, skuPrefix: 'ETSY-AL', categories: ['Handmade'], postal: 'eu' },
  { name: 'IKEA', currency: 'EUR', weight: 3, tzMinutes: 60, taxBp: 0, shippingCents: 2900, freeShippingCents: 20000, skuPrefix: 'IKEA', categories: ['Home'], postal: 'eu' },
  { name: 'Zalando', currency: 'EUR', weight: 2, tzMinutes: 60, taxBp: 0, shippingCents: 490, freeShippingCents: 2900, skuPrefix: 'ZAL', categories: ['Apparel'], postal: 'eu' },
  { name: 'Decathlon', currency: 'EUR', weight: 1, tzMinutes: 60, taxBp: 0, shippingCents: 390, freeShippingCents: 5000, skuPrefix: 'DEC', categories: ['Outdoor', 'Apparel'], postal: 'eu' },
  { name: 'Marks & Spencer', currency: 'GBP', weight: 2, tzMinutes: 0, taxBp: 0, shippingCents: 450, freeShippingCents: 6000, skuPrefix: 'MNS', categories: ['Grocery', 'Apparel', 'Home'], postal: 'uk' },
  { name: 'Argos', currency: 'GBP', weight: 1, tzMinutes: 0, taxBp: 0, shippingCents: 395, freeShippingCents: 10000, skuPrefix: 'ARG', categories: ['Electronics', 'Home', 'Toys'], postal: 'uk' },
  { name: 'Rakuten', currency: 'JPY', weight: 2, tzMinutes: 540, taxBp: 0, shippingCents: 400, freeShippingCents: 2600, skuPrefix: 'RKT', categories: ['Electronics', 'Grocery', 'Books'], postal: 'jp' },
  { name: 'Uniqlo', currency: 'JPY', weight: 2, tzMinutes: 540, taxBp: 0, shippingCents: 330, freeShippingCents: 3300, skuPrefix: 'UNQ', categories: ['Apparel'], postal: 'jp' },
  { name: 'Alshaya', currency: 'KWD', weight: 1, tzMinutes: 180, taxBp: 0, shippingCents: 500, freeShippingCents: 5000, skuPrefix: 'ALS', categories: ['Apparel', 'Beauty', 'Home'], postal: 'kw' },
  { name: 'Canadian Tire', currency: 'CAD', weight: 2, tzMinutes: -300, taxBp: 1300, shippingCents: 999, freeShippingCents: 5000, skuPrefix: 'CTC', categories: ['Hardware', 'Outdoor', 'Home'], postal: 'ca' },
];

/** Item names with a typical price in US cents, per category. */
export const ITEMS: Record<string, ReadonlyArray<readonly [string, number]>> = {
  Electronics: [['USB-C Charging Cable 6ft', 1299], ['Wireless Earbuds', 4999], ['27" 4K Monitor', 32999], ['Bluetooth Speaker', 3999], ['Mechanical Keyboard', 8999], ['Portable SSD 1TB', 10999], ['HDMI 2.1 Cable', 1599], ['Smart Plug (2-pack)', 2499], ['Noise-Cancelling Headphones', 24999], ['AA Batteries (24-pack)', 1799]],
  Books: [['The Pragmatic Programmer', 4299], ['Salt, Fat, Acid, Heat', 2500], ['Project Hail Mary', 1899], ['A Field Guide to Birds', 2199], ['Watercolor Basics', 1599], ['The Very Hungry Caterpillar', 799]],
  Home: [['Cotton Bath Towel Set', 3499], ['Ceramic Dinner Plates (4)', 2999], ['LED Desk Lamp', 2799], ['Throw Blanket', 2499], ['Storage Bins (3-pack)', 1999], ['Stainless Steel Kettle', 3999], ['Linen Curtains', 4499], ['Cast Iron Skillet 10"', 2999]],
  Grocery: [['Organic Coffee Beans 2lb', 1399], ['Extra Virgin Olive Oil 1L', 1299], ['Oat Milk (6-pack)', 1899], ['Dark Chocolate Bar', 349], ['Basmati Rice 5lb', 899], ['Sparkling Water (12)', 599], ['Almond Butter', 799], ['Green Tea (100 bags)', 1099]],
  Toys: [['Building Blocks Set', 5999], ['Plush Bear', 1499], ['Puzzle 1000 pcs', 1999], ['Wooden Train Set', 3999], ['Art Supplies Kit', 2499]],
  Beauty: [['Daily Moisturizer SPF 30', 1899], ['Shampoo 16oz', 899], ['Electric Toothbrush', 4999], ['Lip Balm (3-pack)', 699], ['Perfume 50ml', 7999]],
  Apparel: [['Merino Wool Socks', 1899], ['Rain Jacket', 8999], ['Cotton T-Shirt', 1499], ['Slim Fit Jeans', 4999], ['Running Shoes', 11999], ['Wool Scarf', 2999], ['Down Vest', 6999]],
  Outdoor: [['Trekking Poles', 8995], ['Headlamp 400 lm', 3995], ['Insulated Water Bottle', 3495], ['Camp Stove', 4995], ['Sleeping Pad', 12995]],
  Hardware: [['Cordless Drill', 9900], ['Screwdriver Set', 2497], ['LED Bulbs (4-pack)', 1298], ['Tape Measure 25ft', 1297], ['Work Gloves', 999]],
  Pets: [['Dry Dog Food 30lb', 5499], ['Cat Litter 20lb', 1899], ['Chew Toys (3)', 1299], ['Pet Bed', 3999]],
  Handmade: [['Hand-thrown Mug', 3200], ['Knitted Beanie', 2800], ['Linen Tote Bag', 2400], ['Beeswax Candle', 1800], ['Custom Name Necklace', 4500]],
};

/** Luhn-valid test card numbers (networks' published test numbers). */
export const TEST_CARDS: ReadonlyArray<{ brand: string; number: string }> = [
  { brand: 'visa', number: '4111111111111111' },
  { brand: 'visa', number: '4242424242424242' },
  { brand: 'mastercard', number: '5555555555554444' },
  { brand: 'mastercard', number: '5105105105105100' },
  { brand: 'amex', number: '378282246310005' },
  { brand: 'discover', number: '6011111111111117' },
];

export const STREETS = ['Market St', 'Oak Ave', 'Main St', 'Elm St', 'Cedar Rd', 'Harbor Way', 'Hill Rd', 'Park Ln', 'Lake Dr', 'Mission Blvd'];

export const CITIES: Record<Retailer['postal'], readonly string[]> = {
  us: ['San Francisco', 'Portland', 'Austin', 'Chicago', 'Denver', 'Boston'],
  eu: ['Berlin', 'Paris', 'Amsterdam', 'Madrid'],
  uk: ['London', 'Manchester', 'Leeds'],
  jp: ['Tokyo', 'Osaka', 'Kyoto'],
  kw: ['Kuwait City', 'Salmiya'],
  ca: ['Toronto', 'Vancouver', 'Montreal'],
};

export const NOTES = [
  'Leave at the front door.',
  'Gift — please no invoice in the box.',
  'Ring the bell twice.',
  'Deliver to the side entrance.',
  'Birthday present for Sam.',
  'Please use recyclable packaging.',
];

export const ACCOUNT_NAMES = ['alice', 'bob', 'carol', 'dave', 'erin', 'frank', 'grace', 'heidi', 'ivan', 'judy', 'mallory', 'niaj', 'olivia', 'peggy', 'rupert', 'sybil', 'trent', 'victor', 'walter'];
