/**
 * Which kind of file a CSV is, decided by its HEADERS (never its name, never column positions),
 * and where each field we read sits in it. Headers are compared after normalization (BOM, case,
 * spaces and punctuation dropped), so `Order ID`, `OrderID` and `OrderId` are one name; the
 * aliases below cover the renames between layouts (trap 6).
 *
 * ALLOW-LIST BY COLUMN: only the fields listed here are ever read. Payment instrument, addresses,
 * gift messages and recipients, serial numbers, tracking numbers, purchase order numbers, e-mail
 * and buyer names have no entry, so their cells are never copied out of the parser's row.
 */

export type Kind =
  | 'retail' // Retail.OrderHistory.N.csv (27/28 columns) and Your Amazon Orders/Order History.csv
  | 'legacy-items' // the retired Order History Reports: items
  | 'legacy-shipments' // ... orders and shipments
  | 'legacy-refunds' // ... refunds
  | 'digital-items' // Digital Items.csv
  | 'digital-orders' // Digital Orders.csv (status and date of digital orders)
  | 'refund-payments' // Retail.OrdersReturned.Payments.N.csv
  | 'refund-details' // Your Returns & Refunds/Refund Details.csv
  | 'customer-returns' // Retail.CustomerReturns.N.N.csv
  | 'returns' // Retail.OrdersReturned.N.csv, legacy returns report: returned, no money
  | 'not-needed'; // recognised Amazon files that carry nothing we store (Digital Orders Monetary)

export type Field =
  | 'orderId' | 'orderDate' | 'website' | 'currency' | 'unitPrice' | 'unitTax' | 'shipping' | 'discount' | 'owed'
  | 'subtotal' | 'tax' | 'asin' | 'quantity' | 'orderStatus' | 'shipmentStatus' | 'name' | 'category'
  | 'refundAmount' | 'refundTax' | 'refundDate' | 'refundStatus' | 'reversalId' | 'fulfilled';

/** Normalized header: `\uFEFF"Order ID" ` → `orderid`. */
export const norm = (h: string): string => h.replace(/^\uFEFF/, '').toLowerCase().replace(/[^a-z0-9]/g, '');

type FieldMap = Partial<Record<Field, readonly string[]>>;

interface KindSpec {
  kind: Kind;
  /** Every group must have one of its headers present (normalized). */
  requires: readonly (readonly string[])[];
  /** Fields read, each with its header aliases in order of preference. */
  fields: FieldMap;
}

const ORDER_ID = ['orderid'];

/** Tried in order: the first kind whose required headers are all present wins. */
export const KINDS: readonly KindSpec[] = [
  {
    kind: 'retail',
    requires: [ORDER_ID, ['orderdate'], ['totalowed', 'totalamount'], ['unitprice']],
    fields: {
      orderId: ORDER_ID, orderDate: ['orderdate'], website: ['website'], currency: ['currency'], unitPrice: ['unitprice'],
      unitTax: ['unitpricetax'], shipping: ['shippingcharge'], discount: ['totaldiscounts'], owed: ['totalowed', 'totalamount'],
      asin: ['asin', 'asinisbn'], quantity: ['quantity', 'originalquantity'], orderStatus: ['orderstatus'],
      shipmentStatus: ['shipmentstatus'], name: ['productname', 'title'],
    },
  },
  {
    kind: 'legacy-items',
    requires: [ORDER_ID, ['orderdate'], ['itemtotal', 'purchasepriceperunit'], ['title', 'productname']],
    fields: {
      orderId: ORDER_ID, orderDate: ['orderdate'], website: ['website'], currency: ['currency'], unitPrice: ['purchasepriceperunit'],
      owed: ['itemtotal'], subtotal: ['itemsubtotal'], tax: ['itemsubtotaltax'], asin: ['asinisbn', 'asin'], quantity: ['quantity'],
      orderStatus: ['orderstatus'], name: ['title', 'productname'], category: ['category'],
    },
  },
  {
    kind: 'legacy-shipments',
    requires: [ORDER_ID, ['orderdate'], ['totalcharged']],
    fields: {
      orderId: ORDER_ID, orderDate: ['orderdate'], website: ['website'], currency: ['currency'], subtotal: ['subtotal'],
      shipping: ['shippingcharge'], tax: ['taxcharged'], discount: ['totalpromotions'], owed: ['totalcharged'], orderStatus: ['orderstatus'],
    },
  },
  {
    kind: 'refund-payments',
    requires: [ORDER_ID, ['amountrefunded']],
    fields: { orderId: ORDER_ID, currency: ['currency'], refundAmount: ['amountrefunded'], refundDate: ['refundcompletiondate'], refundStatus: ['status'], reversalId: ['reversalid'] },
  },
  {
    kind: 'customer-returns',
    requires: [ORDER_ID, ['returnamount']],
    fields: { orderId: ORDER_ID, currency: ['returnamountcurrency', 'currency'], refundAmount: ['returnamount'], refundDate: ['dateofreturn'], reversalId: ['contractid'], refundStatus: ['resolution'] },
  },
  {
    kind: 'refund-details',
    requires: [ORDER_ID, ['refundamount'], ['reversalstatus', 'currency', 'creationdate']],
    fields: { orderId: ORDER_ID, currency: ['currency'], refundAmount: ['refundamount'], refundDate: ['refunddate', 'creationdate'], refundStatus: ['reversalstatus'], website: ['website'] },
  },
  {
    kind: 'legacy-refunds',
    requires: [ORDER_ID, ['refundamount']],
    fields: { orderId: ORDER_ID, currency: ['currency'], refundAmount: ['refundamount'], refundTax: ['refundtaxamount'], refundDate: ['refunddate'], refundStatus: ['refundcondition'], website: ['website'] },
  },
  {
    kind: 'digital-items',
    requires: [ORDER_ID, ['ourprice']],
    fields: {
      orderId: ORDER_ID, orderDate: ['orderdate'], website: ['marketplace'], currency: ['ourpricecurrencycode', 'basecurrencycode', 'currency'],
      unitPrice: ['ourprice'], unitTax: ['ourpricetax'], asin: ['asin'], quantity: ['quantityordered', 'originalquantity'],
      name: ['title', 'productname'], fulfilled: ['isfulfilled'],
    },
  },
  {
    kind: 'digital-orders',
    requires: [ORDER_ID, ['orderdate'], ['orderstatus']],
    fields: { orderId: ORDER_ID, orderDate: ['orderdate'], website: ['marketplace'], orderStatus: ['orderstatus'], shipmentStatus: ['deliverystatus'] },
  },
  {
    kind: 'returns',
    requires: [ORDER_ID, ['reversalid', 'returndate', 'returnreason', 'reversalreason']],
    fields: { orderId: ORDER_ID },
  },
  { kind: 'not-needed', requires: [['digitalorderitemid'], ['transactionamount']], fields: {} },
];

export interface Layout {
  kind: Kind;
  /** Column index of each field present in this file. */
  index: Partial<Record<Field, number>>;
  /** The header as written, per field (for naming a column in an error). */
  header: Partial<Record<Field, string>>;
}

/** The layout of a file from its header row, or null when it is no Amazon order file we know. */
export function detect(headers: readonly string[]): Layout | null {
  const normalized = headers.map(norm);
  const at = new Map<string, number>();
  normalized.forEach((h, i) => {
    if (h && !at.has(h)) at.set(h, i);
  });
  for (const spec of KINDS) {
    if (!spec.requires.every((group) => group.some((h) => at.has(h)))) continue;
    const index: Layout['index'] = {};
    const header: Layout['header'] = {};
    for (const [field, aliases] of Object.entries(spec.fields) as [Field, readonly string[]][]) {
      const hit = aliases.find((a) => at.has(a));
      if (hit !== undefined) {
        index[field] = at.get(hit)!;
        header[field] = headers[at.get(hit)!]!.replace(/^\uFEFF/, '').trim();
      }
    }
    return { kind: spec.kind, index, header };
  }
  return null;
}

/** What a refused CSV should have looked like (the usage error's hint). */
export const EXPECTED_HEADERS = [
  'Retail.OrderHistory / Order History.csv: Website, Order ID, Order Date, Currency, Unit Price, Unit Price Tax, Shipping Charge, Total Discounts, Total Owed (or Total Amount), ASIN, Quantity (or Original Quantity), Order Status, Product Name',
  'legacy items report: Order Date, Order ID, Title, Category, ASIN/ISBN, Purchase Price Per Unit, Quantity, Item Total, Currency',
  'legacy orders and shipments report: Order Date, Order ID, Subtotal, Shipping Charge, Tax Charged, Total Charged',
  'refunds: Order ID with AmountRefunded, Refund Amount or ReturnAmount',
  'digital orders: OrderId, OurPrice (Digital Items.csv) or OrderId, OrderDate, OrderStatus (Digital Orders.csv)',
];

/** An "empty report" row: the whole file says there is nothing (trap 7). */
export const isNoDataRow = (fields: readonly string[]): boolean =>
  fields.filter((f) => f.trim() !== '').length === 1 && /^no data found/i.test(fields.find((f) => f.trim() !== '')!.trim());
