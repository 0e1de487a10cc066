//! GeoIP: City + ASN readers behind one lookup function (stub, being written).
